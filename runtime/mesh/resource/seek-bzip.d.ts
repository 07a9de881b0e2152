// Types for the parts of seek-bzip (pure-JavaScript bzip2 decoder, MIT) that bz2.ts uses.
declare module "seek-bzip" {
  interface BunzipInput {
    readByte(): number;
    read(buffer: Uint8Array, offset: number, count: number): number;
    seek(position: number): void;
    eof(): boolean;
  }
  interface BunzipOutput {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    decode(input: BunzipInput | Uint8Array, output: BunzipOutput, multistream?: boolean): void;
  };
  export default Bunzip;
}
