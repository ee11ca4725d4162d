import { Redis } from "ioredis";
import { COMMON } from "../src/ledger/redis-lua.js";
import { startRedis } from "../test/ledger/redis-server.js";
const server = await startRedis();
const redis = new Redis(server.url);
redis.defineCommand("withCommon", { numberOfKeys: 0, lua: COMMON + "\nreturn 1" });
redis.defineCommand("bare", { numberOfKeys: 0, lua: "return 1" });
const cpu = async () => { const t = await redis.info("cpu"); return Number(/used_cpu_sys:([\d.]+)/.exec(t)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(t)![1]); };
for (const name of ["bare", "withCommon", "bare", "withCommon"]) {
  const c0 = await cpu(); const N = 3000;
  for (let i = 0; i < N; i++) await (redis as any)[name]("p:", Date.now(), 10000);
  const c1 = await cpu();
  console.log(name, ((c1 - c0) * 1e6 / N).toFixed(1), "us");
}
const c0 = await cpu(); for (let i = 0; i < 3000; i++) await redis.ping(); console.log("ping", (((await cpu()) - c0) * 1e6 / 3000).toFixed(1));
redis.disconnect(); await server.stop();
