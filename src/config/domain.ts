// The `domain` key: a DNS domain for a network's guests (dnsmasq domain=, local=, expand-hosts, DHCP options 15
// and 119), checked so that it can only ever cover the guests' own names.
import { show } from "./value.js";

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

// Single labels that are no public TLD and never will be: ICANN reserved "internal" for private use (2024).
const PRIVATE_TLDS = new Set(["internal"]);

/** Why VALUE is not a domain kvmnet can give a network's guests, or null. */
export function badDomain(value: string): string | null {
  const v = show(value);
  if (value.endsWith(".")) return `${v} ends with a dot: write ${show(value.replace(/\.+$/, ""))}`;
  if (value !== value.toLowerCase()) return `${v} has upper-case letters: write ${show(value.toLowerCase())}`;
  if (value.length > 253) return `${v} is longer than 253 characters`;
  const labels = value.split(".");
  const wrong = labels.find((l) => !LABEL.test(l));
  if (wrong !== undefined)
    return `${v} is not a DNS domain: each dot-separated label is 1-63 of a-z, 0-9 and inner hyphens`;
  if (/^\d+$/.test(labels.at(-1)!)) return `${v} ends in a numeric label, which DNS names never do`;
  // dnsmasq answers the whole domain itself (local=/DOMAIN/): a bare TLD such as "com" would take every
  // .com name away from the guests.
  if (labels.length === 1 && !PRIVATE_TLDS.has(value))
    return `${v} is a single label: it would capture that whole top-level domain for the guests; use a name below one you own, or ${value}.internal, or home.arpa`;
  if (labels.at(-1) === "arpa" && !/(^|\.)home\.arpa$/.test(value))
    return `${v} is under .arpa (reverse DNS and infrastructure): only home.arpa is for local networks`;
  // systemd-resolved and Avahi send .local names to mDNS, never to the network's DNS.
  if (labels.at(-1) === "local")
    return `${v} is under .local, which guests resolve by multicast DNS, not through dnsmasq: use ${labels.slice(0, -1).join(".") || "lab"}.internal or home.arpa`;
  return null;
}
