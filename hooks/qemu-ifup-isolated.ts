#!/usr/bin/env node
// qemu-ifup-isolated: entry point; all the work is in src/.
import { runMain } from "../src/main.js";

void runMain("qemu-ifup-isolated");
