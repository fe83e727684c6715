#!/usr/bin/env node
// qemu-ifdown: entry point; all the work is in src/.
import { runMain } from "../src/main.js";

void runMain("qemu-ifdown");
