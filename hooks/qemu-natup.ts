#!/usr/bin/env node
// qemu-natup: entry point; all the work is in src/.
import { runMain } from "../src/main.js";

void runMain("qemu-natup");
