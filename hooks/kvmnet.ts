#!/usr/bin/env node
// kvmnet: entry point; all the work is in src/.
import { runMain } from "../src/main.js";

void runMain("kvmnet");
