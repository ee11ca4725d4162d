import { Redis } from "ioredis";
import { SCRIPTS } from "../src/ledger/redis-scripts.js";
import { startRedis } from "../test/ledger/redis-server.js";
const server = await startRedis();
const redis = new Redis(server.url);
for (const [n, lua] of Object.entries(SCRIPTS)) redis.defineCommand(n, { numberOfKeys: 0, lua });
const run = (name: string, ...a: Array<string | number>) => (redis as any)[name]("p:", Date.now(), 10000, ...a);
const cpu = async () => { const t = await redis.info("cpu"); return Number(/used_cpu_sys:([\d.]+)/.exec(t)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(t)![1]); };
const depth = Number(process.argv[2] ?? 300);
let id = 0;
const held: Array<[string, string]> = [];
for (let i = 0; i < depth + 6; i++) {
  const me = `o:${String(++id).padStart(12, "0")}:1`;
  const made = await run("acquireSlot", me, "m", Date.now(), Date.now() + 600000, "p:grant:o", "a\nb", "3\n3");
  for (let k = 0; k < made.length; k += 2) { const [gid, acct] = made[k + 1].split(" "); held.push([gid, acct]); }
}
console.log("held", held.length);
const c0 = await cpu(); const t0 = Date.now();
const N = 2000;
for (let i = 0; i < N; i++) {
  const [gid, acct] = held.shift()!;
  const made = await run("releaseSlot", gid, acct, "m", "p:grant:o");
  for (let k = 0; k < made.length; k += 2) { const [g, a] = made[k + 1].split(" "); held.push([g, a]); }
  const me = `o:${String(++id).padStart(12, "0")}:1`;
  const m2 = await run("acquireSlot", me, "m", Date.now(), Date.now() + 600000, "p:grant:o", "a\nb", "3\n3");
  for (let k = 0; k < m2.length; k += 2) { const [g, a] = m2[k + 1].split(" "); held.push([g, a]); }
}
const c1 = await cpu();
console.log(`depth ${depth}: ${((c1 - c0) * 1e6 / N).toFixed(0)} us redis cpu per release+acquire, ${((Date.now() - t0) * 1000 / N).toFixed(0)} us wall`);
redis.disconnect(); await server.stop();
