// TCP servers and clients for the firewall rule tests: one node process in a namespace listening on several
// ports, each connection greeted with "ok PORT" and then echoed; a client that says whether it got the greeting,
// and a long-lived connection that can be tried again later (established connections across a change).
import type { Netns } from "./netns.js";

/** Listen on PORTS (every address) in NS; returns a stop function (kills by pid). */
export async function startPorts(ns: Netns, ports: number[]): Promise<() => void> {
  const code = `const net=require('net');let n=0;for(const p of ${JSON.stringify(ports)})net.createServer(s=>{s.on('error',()=>{});s.write('ok '+p+'\\n');s.pipe(s)}).listen(p,()=>{if(++n===${ports.length})console.log('ready')})`;
  const child = ns.spawn("node", ["-e", code]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    void child.once("exit", () => reject(new Error(`port server in ${ns.name} exited`)));
  });
  return () => {
    child.kill("SIGTERM");
  };
}

// A client: connects, prints what it receives, sends each line of its stdin; exits when the connection ends.
const CLIENT = (address: string, port: number, once: boolean) =>
  `const s=require('net').connect(${port},${JSON.stringify(address)});` +
  `s.setTimeout(4000,()=>process.exit(3));s.on('error',()=>process.exit(2));s.on('close',()=>process.exit(1));` +
  (once
    ? `s.on('data',d=>{if(String(d).includes('ok ${port}'))process.exit(0)})`
    : `s.on('data',d=>{s.setTimeout(0);process.stdout.write(d)});process.stdin.on('data',d=>s.write(d))`);

/** True when NS opens a TCP connection to ADDRESS:PORT and gets the server's greeting. */
export async function connects(ns: Netns, address: string, port: number): Promise<boolean> {
  const r = await ns.tryRun("node", ["-e", CLIENT(address, port, true)], { timeout: 15_000 });
  return r.exitCode === 0;
}

/** A connection from NS to ADDRESS:PORT kept open: echo(TEXT) says whether TEXT comes back within 3 s. */
export async function openConnection(ns: Netns, address: string, port: number) {
  const child = ns.spawn("node", ["-e", CLIENT(address, port, false)]);
  let got = "";
  child.stdout!.on("data", (d: Buffer) => (got += String(d)));
  const until = async (text: string, ms: number) => {
    for (let t = 0; t < ms && !got.includes(text) && child.exitCode === null; t += 100)
      await new Promise((r) => setTimeout(r, 100));
    return got.includes(text);
  };
  if (!(await until(`ok ${port}`, 5000))) throw new Error(`no connection from ${ns.name} to ${address}:${port}`);
  return {
    async echo(text: string): Promise<boolean> {
      if (child.exitCode !== null) return false;
      child.stdin!.write(text + "\n");
      return await until(text, 3000);
    },
    close() {
      child.kill("SIGTERM");
    },
  };
}
