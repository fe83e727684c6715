// TCP servers and clients for the firewall rule tests: one node process in a namespace listening on several
// ports, each connection answered with "ok PORT"; a client that says whether it got that answer.
import type { Netns } from "./netns.js";

/** Listen on PORTS (every address) in NS; returns a stop function (kills by pid). */
export async function startPorts(ns: Netns, ports: number[]): Promise<() => void> {
  const code = `const net=require('net');let n=0;for(const p of ${JSON.stringify(ports)})net.createServer(s=>{s.on('error',()=>{});s.end('ok '+p+'\\n')}).listen(p,()=>{if(++n===${ports.length})console.log('ready')})`;
  const child = ns.spawn("node", ["-e", code]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    void child.once("exit", () => reject(new Error(`port server in ${ns.name} exited`)));
  });
  return () => {
    child.kill("SIGTERM");
  };
}

/** True when NS opens a TCP connection to ADDRESS:PORT and gets the server's answer. */
export async function connects(ns: Netns, address: string, port: number): Promise<boolean> {
  const r = await ns.tryRun("busybox", ["nc", "-w", "3", address, String(port)], { timeout: 15_000 });
  return String(r.stdout).includes(`ok ${port}`);
}
