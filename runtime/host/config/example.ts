// `kosd --example-config`: a fully commented config that loads as is (test/unit/config-load.test.ts proves
// it, with every commented-out option switched on too). Format and the full option list: ./README.md.

export function exampleConfig(): string {
  return EXAMPLE;
}

const EXAMPLE = `# kosd configuration.
#
# The format is the one Reticulum's config files use: [section], [[subsection]],
# "key = value", "#" comments, yes/no booleans, comma-separated lists. Quote a
# value with '...' or "..." when it contains "#" or ",". An interface stanza
# from a Reticulum config can be pasted into [interfaces] unchanged.
#
# Lines starting with "# key = value" show an option with its default value
# (or an example value, where an option has no default). Check a config
# without starting the node: kosd --config FILE --check-config

[kosd]

# Where the node identity and persistent state live. Relative paths in this
# file are relative to the file's own directory; "~/" is the home directory.
# The default is $KOS_DATA_DIR, else /var/lib/kos-edge when running as root,
# else $XDG_DATA_HOME/kos-edge. The --data-dir flag wins over this option.

# data_dir = /var/lib/kos-edge

# The local control socket that kosctl talks to. The default is kosd.sock
# inside the data directory.

# control_socket = /var/lib/kos-edge/kosd.sock

# Log level: error, warn, info or debug. With log_json = yes every log line
# is one JSON object, for journald or a log shipper.

# log_level = info
# log_json = no

# Transport: route traffic for other nodes, forward announces and answer
# path requests. Only for stationary, always-on nodes.

# enable_transport = no

# Answer probes sent to this node's rnstransport.probe destination, so that
# rnprobe and kosctl can measure the path to it.

# respond_to_probes = no

# Prove received packets with short implicit proofs (the Reticulum default)
# rather than explicit ones.

# use_implicit_proof = yes

# Stop kosd when an interface fails hard (its device disappears), so that a
# supervisor restarts it, instead of carrying on without that interface.

# panic_on_interface_error = no

# Identities whose announces and traffic this node drops: a comma-separated
# list of identity hashes (32 hex digits each).

# blackholed_identities = 9fb6d773498fb3feda407ed8ef2c3229, 2d882c5586e548d79b5af27bca1776dc

# How often known paths and destinations are written to disk, in seconds
# (they are also written when kosd stops).

# persist_interval = 43200

# Reuse the interfaces of an existing Reticulum config: every enabled
# interface in its [interfaces] section is added to the ones below. The
# --reticulum-config flag does the same and wins over this option.

# include_reticulum_interfaces = ~/.reticulum/config

# Defaults for every interface's announce rate limits (used when transport is
# enabled) and for ingress and egress control; each interface can override
# them with the options shown in the "Uplink" example below.

# default_ar_target = 3600
# default_ar_grace = 5
# default_ar_penalty = 0
# ic_max_held_announces = 256


[logging]

# Reticulum's spelling of the log level is accepted here instead of
# log_level above: "loglevel = 4", where 0-1 mean error, 2 warn, 3-4 info
# and 5-8 debug.



[mqtt]

# Bridge the action log to headquarters: every verified entry of the log
# (every author's, not only this node's) is published to an existing MQTT
# broker as soon as a link allows, at QoS 1, on the topic
# <topic_prefix>/<kind>/<author hash>. After an outage kosd goes on from the
# last entry the broker acknowledged; an entry may arrive twice, so
# subscribers deduplicate by entry hash (SHA-256 of a binary payload, the
# "hash" user property, or the "hash" field of a JSON payload).

enabled = no
url = mqtts://hq.example.org:8883

# Client identifier; the default is kosd-<first 16 hex digits of the node
# identity>. User name and password, if the broker asks for them (the
# password is never logged or shown).
# client_id = kosd-site-7
# username = site-7
# password = a long secret

# Topics start with this prefix. The payload is the entry's canonical
# MessagePack bytes (binary) or a JSON object (json). MQTT 5, or 3.1.1 for
# older brokers (no user properties there).
# topic_prefix = kos/log
# payload = binary
# protocol_version = 5

# TLS (mqtts://): the CA that signed the broker's certificate
# (default: the system's CAs), and a client certificate and key if the
# broker wants one.
# ca_file = /etc/kos-edge/hq-ca.pem
# cert_file = /etc/kos-edge/site.crt
# key_file = /etc/kos-edge/site.key

# Keepalive in seconds, entries awaiting the broker's acknowledgement at
# once, and the longest wait between reconnection attempts (seconds).
# keepalive = 60
# max_inflight = 32
# reconnect_max = 60


[quorum]

# Local quorum: nearby members agree on an action (confirm an alarm, release
# a cache) and leave a certificate anyone can check offline. Proposals and
# votes travel as gossip on every interface; memberships, certificates and
# outcomes go into the action log. This node's own votes are kept in
# <data_dir>/quorum/votes.journal, so it never votes twice differently.
# See "kosctl vote --help".

enabled = no

# Which genesis memberships (version 1) to trust: by id, and/or those written
# by these authors (identity hashes, or 128-digit public keys). This node's
# own ("kosctl vote membership create") are trusted unless trust_self = no.
# Later versions need a certificate of the one before, whoever wrote them.
# trust_genesis = 6f1d2c7e9a0b4c3d8e5f60718293a4b5
# trust_authors = 9fb6d773498fb3feda407ed8ef2c3229
# trust_self = yes

# Clock difference tolerated between members, in seconds.
# skew = 2

  # Vote policies: this node votes by itself on matching proposals, the first
  # matching policy deciding; "manual" leaves it to the operator. kind is a
  # proposal kind, a prefix ending in *, or * for every kind; proposer (if
  # given) lists the identity hashes of the members it applies to.
  [[anomalies from the river sensors]]
    vote = approve
    kind = sensor.anomaly
    proposer = 9fb6d773498fb3feda407ed8ef2c3229, 1d2e3f405162738495a6b7c8d9eaf00b

[interfaces]

  # Each [[subsection]] is one interface; its name is free. An interface runs
  # only with "enabled = yes". Every example below is disabled: enable and
  # edit the ones you need.
  #
  # Options every interface takes:
  #   mode       full, gateway (gw), access_point (ap), pointtopoint (ptp),
  #              roaming or boundary. Reticulum also accepts interface_mode.
  #   outgoing   no makes the interface receive only.
  #   bitrate    bits per second, when the driver's estimate is wrong.
  #   announce_cap   percent of the bitrate announces may use.
  #   networkname, passphrase   interface access code (IFAC): only nodes with
  #              the same name and passphrase can read or inject traffic.
  #   ifac_size  IFAC length in bits (default 128, 64 on RNode radios).

  # Link-local discovery of other nodes over IPv6 multicast on the LAN; needs
  # no routers, only link-local IPv6 (on by default in most systems).

  [[Default Interface]]
    type = AutoInterface
    enabled = no

    # Nodes only peer with nodes of the same group.
    # group_id = reticulum

    # Multicast scope: link, admin, site, organisation or global.
    # discovery_scope = link
    # multicast_address_type = temporary
    # discovery_port = 29716
    # data_port = 42671

    # Restrict to some network devices, or leave some out.
    # devices = eth0, wlan0
    # ignored_devices = docker0

  # A TCP connection to another node or a public entry point. It reconnects
  # on its own when the connection drops.

  [[Uplink]]
    type = TCPClientInterface
    enabled = no
    target_host = 127.0.0.1
    target_port = 4242

    # Seconds to wait for the connection, and how many times to retry
    # before giving up (unset: retry for ever).
    # connect_timeout = 5
    # max_reconnect_tries = 100

    # KISS framing instead of HDLC, for TCP-attached modems; i2p_tunneled for
    # connections through an I2P tunnel; fixed_mtu to pin the MTU.
    # kiss_framing = no
    # i2p_tunneled = no
    # fixed_mtu = 500

    # The options every interface takes (defaults, or examples where an
    # option has none).
    # mode = full
    # outgoing = yes
    # bitrate = 10000000
    # announce_cap = 2
    # networkname = my-network
    # passphrase = a long shared secret
    # ifac_size = 128

    # Announce rate limit per destination: announces closer together than
    # announce_rate_target seconds count as violations; after
    # announce_rate_grace of them the destination is held back for a further
    # announce_rate_penalty seconds.
    # announce_rate_target = 3600
    # announce_rate_grace = 5
    # announce_rate_penalty = 0

    # Ingress control holds back bursts of announces from new or noisy
    # neighbours. Frequencies are announces per second, times are seconds.
    # ingress_control = yes
    # ic_max_held_announces = 256
    # ic_new_time = 7200
    # ic_burst_freq_new = 3
    # ic_burst_freq = 10
    # ic_pr_burst_freq_new = 3
    # ic_pr_burst_freq = 8
    # ic_burst_hold = 15
    # ic_burst_penalty = 15
    # ic_held_release_interval = 5

    # Egress control limits how fast path requests go out.
    # egress_control = no
    # ec_pr_freq = 5

  # Accept TCP connections from other nodes. Listen on an address, or on the
  # address of a network device (device = eth0 instead of listen_ip).

  [[TCP Server]]
    type = TCPServerInterface
    enabled = no
    listen_ip = 0.0.0.0
    listen_port = 4242
    # prefer_ipv6 = no

  # UDP broadcast on a LAN segment. "port" sets both ports at once, and a
  # device option fills in its broadcast address for both directions.

  [[UDP Broadcast]]
    type = UDPInterface
    enabled = no
    listen_ip = 0.0.0.0
    listen_port = 4242
    forward_ip = 255.255.255.255
    forward_port = 4242

  # A LoRa radio running RNode firmware. The port is a serial device, or
  # over Bluetooth LE ble://NAME, ble://AA:BB:CC:DD:EE:FF (or ble:// for the
  # first paired RNode): pair it once with bluetoothctl. (tcp://HOST is
  # accepted but not driven yet.) Use only frequencies, bandwidths and
  # powers that are legal where the radio is.

  [[LoRa 868]]
    type = RNodeInterface
    enabled = no
    port = /dev/ttyUSB0

    # Hz, Hz, dBm: 867.2 MHz, 125 kHz, 7 dBm.
    frequency = 867200000
    bandwidth = 125000
    txpower = 7

    # Spreading factor 5-12 and coding rate 5-8: lower is faster, higher
    # reaches further.
    spreadingfactor = 8
    codingrate = 5

    # Check these settings against kos-edge's data (boards/): the radio
    # board (band, power range, chip), the region's frequency plan (sub-band,
    # power, duty cycle) and, optionally, one of its sub-bands. kosd refuses
    # to start with settings outside a limit and names it. antenna_gain (dBi,
    # default 2.15) turns txpower into radiated power for the region's limits.
    # board = lilygo-tbeam-sx1262
    # region = eu868
    # sub_band = g
    # antenna_gain = 2.15

    # A modem preset fills in spreadingfactor, bandwidth and codingrate (set
    # them as well only with the same values).
    # modem_preset = sf8-bw125-cr45

    # Airtime limits in percent over the short (15 s) and long (1 h) window.
    # airtime_limit_short = 33
    # airtime_limit_long = 10

    # Station identification every id_interval seconds, where the licence
    # asks for it.
    # id_callsign = MYCALL-0
    # id_interval = 600

    # Packet flow control, for homebrew RNodes with little RAM.
    # flow_control = no

    # With a ble:// port, the Bluetooth adapter when it is not BlueZ's
    # first: ble_adapter = hci1 (a warning on a serial port).
`;
