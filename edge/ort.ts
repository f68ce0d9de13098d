import { createRequire } from "node:module";

/*
 * onnxruntime-node is a native module the recipe installs into the component's work folder,
 * not into the read-only artifacts folder the bundle runs from. CommonJS resolution honours
 * NODE_PATH (ESM imports do not), so the bundle loads it through require with NODE_PATH set
 * by the recipe; in the repository it resolves from node_modules as usual.
 */
const requireNative = createRequire(import.meta.url);

export const ort: typeof import("onnxruntime-node") = requireNative("onnxruntime-node");
export type { InferenceSession, Tensor } from "onnxruntime-node";
