// Child process of crash.test.ts: opens the store in argv[2] and appends forever from a few concurrent lanes,
// printing "author seq hash" for an entry only after its append promise resolved (it is durable). The parent
// kills it with SIGKILL at a random moment and checks that every printed entry survived.
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { LogStore } from "../../runtime/log/store.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";

const dir = process.argv[2]!;
const seed = Number(process.argv[3] ?? 1);
// The same authors in every round, so their chains continue across kills.
const idRng = seededRandom(4242);
const authors = Array.from({ length: 3 }, () => Identity.generate(idRng));
const rng = seededRandom(seed);

async function main(): Promise<void> {
  const store = await LogStore.open({ dir, segmentMaxBytes: 48 * 1024 });
  process.stdout.write("ready\n");
  const lane = async (k: number): Promise<void> => {
    const author = authors[k % authors.length]!;
    for (let i = 0; ; i++) {
      // Mostly small bodies, now and then a large one, so some writes span many pages.
      const size = rng.next32() % 10 === 0 ? 2000 + (rng.next32() % 12_000) : rng.next32() % 200;
      const e = await store.appendLocal(author, "crash.test", packMsgpack({ lane: k, i, pad: rng.bytes(size) }), Date.now());
      process.stdout.write(`${toHex(e.author)} ${e.seq} ${toHex(e.hash)}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, k) => lane(k)));
}

main().catch((e: unknown) => {
  process.stderr.write(`crash-child: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
