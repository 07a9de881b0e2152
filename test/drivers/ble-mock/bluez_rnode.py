'''bluetoothd mock with RNodes on BLE, for test/drivers/ble.test.ts

A python-dbusmock template: everything dbusmock's own `bluez5` template serves (the object manager at /,
/org/bluez with AgentManager1 and ProfileManager1, and the org.bluez.Mock methods AddAdapter, AddDevice,
PairDevice, BlockDevice, ConnectDevice, RemoveAdapter...), plus what that template lacks and an RNode needs:
the GATT objects BlueZ exports for a connected LE device, and a bridge to an emulated radio.

Added here (org.bluez.Mock on /):
  AddRNode(adapter s, address s, name s, bridge s, mtu q, paired b) -> o
      A device advertising the Nordic-UART-style service RNode firmware serves (Bluetooth.h, BLESerial.cpp):
      service 6e400001-..., RX characteristic 6e400002-... (flags: write; the host writes to it) and TX
      characteristic 6e400003-... (flags: read, notify; the radio notifies on it), each with BlueZ's MTU
      property, and the GAP service 0x1800 beside it. `bridge` is the Unix socket of the emulated radio.
  DisconnectDevice(adapter s, address s)
      Replaces bluez5's: the link drops as seen from the radio side (supervision timeout, radio walked off),
      the bridge closes, Connected and ServicesResolved go false, notifications stop.
  GetRNodeStats(adapter s, address s) -> a{sv}
      What went over the link: writes, write bytes, the largest write, notifications and their largest size,
      connections, dropped output (radio bytes while nobody listened), whether TX notifies.

Device1.Connect/Disconnect of an RNode replace bluez5's (which never update the Connected property that
Get returns, and refuse a second Connect after DisconnectDevice): Connect opens the bridge, or fails with
org.bluez.Error.Failed like BlueZ when the radio does not answer; ServicesResolved follows shortly after.
GattCharacteristic1: WriteValue (type from options, default "request": refused with NotSupported when the
characteristic's flags do not allow it; longer than MTU - 3 refused with InvalidValueLength, as a write
without response is in BlueZ: this mock does no long writes), ReadValue, StartNotify/StopNotify; radio
bytes become PropertiesChanged(Value) signals on TX of at most MTU - 3 bytes each, while notifying.
'''

import socket

import dbus
from gi.repository import GLib

from dbusmock import mockobject
from dbusmock.templates import bluez5 as _base

BUS_NAME = _base.BUS_NAME
MAIN_OBJ = _base.MAIN_OBJ
SYSTEM_BUS = True
IS_OBJECT_MANAGER = True

# Every D-Bus method of the bluez5 template, registered by AddTemplate as if defined here.
for _name in dir(_base):
    _fn = getattr(_base, _name)
    if '_dbus_interface' in dir(_fn):
        globals()[_name] = _fn

MOCK_IFACE = _base.BLUEZ_MOCK_IFACE
DEVICE_IFACE = _base.DEVICE_IFACE
SERVICE_IFACE = 'org.bluez.GattService1'
CHRC_IFACE = 'org.bluez.GattCharacteristic1'

NUS_SERVICE = '6e400001-b5a3-f393-e0a9-e50e24dcca9e'
NUS_RX = '6e400002-b5a3-f393-e0a9-e50e24dcca9e'
NUS_TX = '6e400003-b5a3-f393-e0a9-e50e24dcca9e'
GAP_SERVICE = '00001800-0000-1000-8000-00805f9b34fb'
DEVICE_NAME_CHRC = '00002a00-0000-1000-8000-00805f9b34fb'

# device path -> RNode
RNODES = {}


class RNode:
    def __init__(self, path, bridge, mtu):
        self.path = path
        self.bridge = bridge
        self.mtu = mtu
        self.rx = path + '/service000c/char000d'
        self.tx = path + '/service000c/char000f'
        self.sock = None
        self.watch = None
        self.resolve = None
        self.stats = {'writes': 0, 'writeBytes': 0, 'maxWrite': 0, 'notifications': 0, 'notifyBytes': 0,
                      'maxNotify': 0, 'connections': 0, 'droppedBytes': 0}


def load(mock, parameters):
    _declare_properties_changed()
    _base.load(mock, parameters)


def _declare_properties_changed():
    '''BlueZ's introspection data declares org.freedesktop.DBus.Properties.PropertiesChanged; dbusmock's
    lacks it (it emits the signal all the same), and a client that subscribes by its introspection
    (dbus-next, so node-ble) would never see a property change.'''
    def PropertiesChanged(self, interface_name, changed_properties, invalidated_properties):  # noqa: N802
        pass
    signal = dbus.service.signal(dbus.PROPERTIES_IFACE, signature='sa{sv}as')(PropertiesChanged)
    cls = mockobject.DBusMockObject
    table = cls._dbus_class_table[cls.__module__ + '.' + cls.__name__]  # pylint: disable=protected-access
    table.setdefault(dbus.PROPERTIES_IFACE, {})['PropertiesChanged'] = signal


def _err(name, text):
    return dbus.exceptions.DBusException(text, name='org.bluez.Error.' + name)


def _device_path(adapter, address):
    return '/org/bluez/' + adapter + '/dev_' + address.replace(':', '_').upper()


def _rnode(adapter, address):
    path = _device_path(adapter, address)
    if path not in RNODES:
        raise dbus.exceptions.DBusException(f'No RNode at {path}', name=MOCK_IFACE + '.NoSuchDevice')
    return RNODES[path]


def _add(path, iface, props, methods):
    manager = mockobject.objects['/']
    manager.AddObject(path, iface, props, methods)
    manager.EmitSignal('org.freedesktop.DBus.ObjectManager', 'InterfacesAdded', 'oa{sa{sv}}', [
        dbus.ObjectPath(path), {iface: props}])


def _bytes(data):
    return dbus.Array([dbus.Byte(b) for b in data], signature='y', variant_level=1)


def _update(path, iface, props):
    mockobject.objects[path].UpdateProperties(iface, props)


def _write_value(chrc, value, options):
    node = RNODES[str(chrc.props[CHRC_IFACE]['Service']).rsplit('/', 1)[0]]
    if node.sock is None:
        raise _err('Failed', 'Not connected')
    kind = str(options.get('type', 'request'))
    flags = [str(f) for f in chrc.props[CHRC_IFACE]['Flags']]
    allowed = {'request': 'write', 'command': 'write-without-response', 'reliable': 'reliable-write'}
    if allowed.get(kind) not in flags:
        raise _err('NotSupported', f'Write type {kind} not supported by this characteristic')
    if len(value) > node.mtu - 3:
        raise _err('InvalidValueLength', f'{len(value)} bytes: more than MTU {node.mtu} - 3')
    data = bytes(value)
    node.stats['writes'] += 1
    node.stats['writeBytes'] += len(data)
    node.stats['maxWrite'] = max(node.stats['maxWrite'], len(data))
    try:
        node.sock.sendall(data)
    except OSError:
        _drop(node)
        raise _err('Failed', 'Not connected')


def _read_value(chrc, _options):
    return chrc.props[CHRC_IFACE]['Value']


def _start_notify(chrc):
    node = RNODES[str(chrc.props[CHRC_IFACE]['Service']).rsplit('/', 1)[0]]
    if node.sock is None:
        raise _err('Failed', 'Not connected')
    if 'notify' not in [str(f) for f in chrc.props[CHRC_IFACE]['Flags']]:
        raise _err('NotSupported', 'Operation is not supported')
    _update(chrc.path, CHRC_IFACE, {'Notifying': dbus.Boolean(True)})


def _stop_notify(chrc):
    _update(chrc.path, CHRC_IFACE, {'Notifying': dbus.Boolean(False)})


def _from_radio(_fd, condition, path):
    node = RNODES.get(path)
    if node is None or node.sock is None:
        return False
    data = b''
    if condition & GLib.IO_IN:
        try:
            data = node.sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            data = b''
    if not data:
        node.watch = None
        _drop(node)
        return False
    tx = mockobject.objects[node.tx]
    if not tx.props[CHRC_IFACE]['Notifying']:
        node.stats['droppedBytes'] += len(data)
        return True
    step = node.mtu - 3
    for i in range(0, len(data), step):
        chunk = data[i:i + step]
        tx.props[CHRC_IFACE]['Value'] = _bytes(chunk)
        tx.EmitSignal(dbus.PROPERTIES_IFACE, 'PropertiesChanged', 'sa{sv}as', [
            CHRC_IFACE, {'Value': _bytes(chunk)}, []])
        node.stats['notifications'] += 1
        node.stats['notifyBytes'] += len(chunk)
        node.stats['maxNotify'] = max(node.stats['maxNotify'], len(chunk))
    return True


def _resolved(path):
    node = RNODES.get(path)
    if node is not None:
        node.resolve = None
        if node.sock is not None:
            _update(path, DEVICE_IFACE, {'ServicesResolved': dbus.Boolean(True)})
    return False


def _connect(device):
    node = RNODES[device.path]
    if node.sock is not None:
        raise _err('AlreadyConnected', 'Already Connected')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(1.0)
        sock.connect(node.bridge)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise _err('Failed', f'Software caused connection abort ({e.strerror})')
    node.sock = sock
    node.stats['connections'] += 1
    node.watch = GLib.io_add_watch(sock.fileno(), GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, _from_radio, device.path)
    device.connected = True
    _update(device.path, DEVICE_IFACE, {'Connected': dbus.Boolean(True)})
    # BlueZ reports the services resolved a moment after the connection (from its cache for a bonded device).
    node.resolve = GLib.timeout_add(20, _resolved, device.path)


def _drop(node):
    if node.sock is None:
        return
    if node.watch is not None:
        GLib.source_remove(node.watch)
        node.watch = None
    if node.resolve is not None:
        GLib.source_remove(node.resolve)
        node.resolve = None
    try:
        node.sock.close()
    except OSError:
        pass
    node.sock = None
    mockobject.objects[node.path].connected = False
    if mockobject.objects[node.tx].props[CHRC_IFACE]['Notifying']:
        _update(node.tx, CHRC_IFACE, {'Notifying': dbus.Boolean(False)})
    _update(node.path, DEVICE_IFACE, {'Connected': dbus.Boolean(False), 'ServicesResolved': dbus.Boolean(False)})


def _disconnect(device):
    node = RNODES[device.path]
    if node.sock is None:
        raise _err('NotConnected', 'Not Connected')
    _drop(node)


def _characteristic(path, service, uuid, flags, mtu, handle):
    props = {
        'UUID': dbus.String(uuid),
        'Service': dbus.ObjectPath(service),
        'Value': dbus.Array([], signature='y'),
        'Flags': dbus.Array(flags, signature='s'),
        'Handle': dbus.UInt16(handle),
        'MTU': dbus.UInt16(mtu),
    }
    if 'notify' in flags:
        props['Notifying'] = dbus.Boolean(False)
    _add(path, CHRC_IFACE, props, [
        ('ReadValue', 'a{sv}', 'ay', _read_value),
        ('WriteValue', 'aya{sv}', '', _write_value),
        ('StartNotify', '', '', _start_notify),
        ('StopNotify', '', '', _stop_notify),
    ])


@dbus.service.method(MOCK_IFACE, in_signature='ssssqb', out_signature='s')
def AddRNode(self, adapter, address, name, bridge, mtu, paired):
    '''An RNode: a bluez5 device with the RNode's GATT service, bridged to an emulated radio.'''
    path = _base.AddDevice(self, adapter, address, name)
    device = mockobject.objects[path]
    node = RNode(path, str(bridge), int(mtu))
    RNODES[path] = node
    device.AddMethods(DEVICE_IFACE, [('Connect', '', '', _connect), ('Disconnect', '', '', _disconnect)])
    uuids = dbus.Array([GAP_SERVICE, NUS_SERVICE], signature='s')
    props = {'UUIDs': uuids}
    if paired:
        device.paired = True
        props.update({'Paired': dbus.Boolean(True), 'Bonded': dbus.Boolean(True), 'Trusted': dbus.Boolean(True)})
    else:
        props.update({'Bonded': dbus.Boolean(False)})
    for key, value in props.items():
        device.props[DEVICE_IFACE][key] = value
    device.EmitSignal(dbus.PROPERTIES_IFACE, 'PropertiesChanged', 'sa{sv}as', [DEVICE_IFACE, props, []])

    gap = path + '/service0001'
    _add(gap, SERVICE_IFACE, {'UUID': dbus.String(GAP_SERVICE), 'Primary': dbus.Boolean(True),
                              'Device': dbus.ObjectPath(path), 'Includes': dbus.Array([], signature='o'),
                              'Handle': dbus.UInt16(1)}, [])
    _characteristic(gap + '/char0002', gap, DEVICE_NAME_CHRC, ['read'], int(mtu), 3)
    mockobject.objects[gap + '/char0002'].props[CHRC_IFACE]['Value'] = _bytes(str(name).encode('utf-8'))
    service = path + '/service000c'
    _add(service, SERVICE_IFACE, {'UUID': dbus.String(NUS_SERVICE), 'Primary': dbus.Boolean(True),
                                  'Device': dbus.ObjectPath(path), 'Includes': dbus.Array([], signature='o'),
                                  'Handle': dbus.UInt16(12)}, [])
    _characteristic(node.rx, service, NUS_RX, ['write'], int(mtu), 13)
    _characteristic(node.tx, service, NUS_TX, ['read', 'notify'], int(mtu), 15)
    return path


@dbus.service.method(MOCK_IFACE, in_signature='ss', out_signature='')
def DisconnectDevice(_self, adapter, address):
    '''The link drops as the radio side sees it; for plain bluez5 devices, what bluez5 does.'''
    path = _device_path(adapter, address)
    node = RNODES.get(path)
    if node is None:
        return _base.DisconnectDevice(_self, adapter, address)
    _drop(node)
    return None


@dbus.service.method(MOCK_IFACE, in_signature='ss', out_signature='a{sv}')
def GetRNodeStats(_self, adapter, address):
    '''Counters of what went over an RNode's link.'''
    node = _rnode(adapter, address)
    out = {k: dbus.UInt32(v) for k, v in node.stats.items()}
    out['notifying'] = dbus.Boolean(bool(mockobject.objects[node.tx].props[CHRC_IFACE]['Notifying']))
    out['connected'] = dbus.Boolean(node.sock is not None)
    return out
