#!/usr/bin/env node
// The published `edge-mlops` binary: registers tsx's loader so the TypeScript sources run as they are.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
