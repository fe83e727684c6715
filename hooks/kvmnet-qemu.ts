#!/usr/bin/env node
// kvmnet-qemu: entry point; all the work is in src/cli/userd/.
import { runMain } from "../src/main.js";

void runMain("kvmnet-qemu", process.argv, () => import("../src/cli/verbs.js"));
