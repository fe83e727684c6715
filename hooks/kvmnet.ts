#!/usr/bin/env node
// kvmnet: the admin CLI's entry point; all the work is in src/.
import { runMain } from "../src/main.js";

void runMain("kvmnet", process.argv, () => import("../src/cli/verbs.js"));
