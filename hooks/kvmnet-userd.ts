#!/usr/bin/env node
// kvmnet-userd: entry point; all the work is in src/cli/userd/.
import { runMain } from "../src/main.js";

void runMain("kvmnet-userd", process.argv, () => import("../src/cli/verbs.js"));
