// Links use the project's plain MessagePack codec (runtime/wire/msgpack.ts).
export { Float64, packMsgpack, unpackMsgpack } from "../../wire/msgpack.js";
