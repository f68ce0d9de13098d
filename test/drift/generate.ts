/** Synthetic Edge Manager capture records for tests and the benchmark. */

import { createRng } from "../../examples/prng.ts";

export interface RecordSpec {
  fleet?: string;
  device?: string;
  model?: string;
  modelVersion?: string;
  inferenceTime?: string;
  eventId?: string;
  inputs?: Float32Array;
  outputs?: Float32Array;
}

const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

/** One capture line in the example layout: `input` [1,16] → `probabilities` [1,3]. */
export function captureLine(r: RecordSpec = {}): string {
  const inputs = r.inputs ?? new Float32Array(16).fill(0.5);
  const outputs = r.outputs ?? new Float32Array([0.2, 0.5, 0.3]);
  return JSON.stringify({
    eventMetadata: {
      deviceFleetName: r.fleet ?? "fleet-a",
      deviceId: r.device ?? "device-1",
      eventId: r.eventId ?? "e-1",
      inferenceTime: r.inferenceTime ?? "2026-11-24T10:00:00.000Z",
      modelName: r.model ?? "classifier",
      modelVersion: r.modelVersion ?? "1",
    },
    eventVersion: "1.0",
    deviceFleetInputs: [
      { name: "input", data: b64(inputs), observedContentType: `Tensor[float32; 1, ${inputs.length}]` },
    ],
    deviceFleetOutputs: [
      {
        name: "probabilities",
        data: b64(outputs),
        observedContentType: `Tensor[float32; 1, ${outputs.length}]`,
      },
    ],
  });
}

/** Deterministic PRNG (the examples' mulberry32) so generated data is the same on every run. */
export const rng = (seed: number): (() => number) => createRng(seed).next;

/** Standard normal via Box–Muller. */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * `count` plausible records: inputs ~ N(shift, 1) per element, outputs a softmax of a linear map.
 * `shift` moves the input distribution to produce drift.
 */
export function* syntheticLines(
  count: number,
  opts: { seed?: number; shift?: number; devices?: number; fleet?: string } = {},
): Generator<string> {
  const rand = rng(opts.seed ?? 1);
  const normal = gaussian(rand);
  const shift = opts.shift ?? 0;
  const devices = opts.devices ?? 3;
  const inputs = new Float32Array(16);
  const outputs = new Float32Array(3);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < 16; j++) inputs[j] = normal() + shift + (j % 4) * 0.25;
    const z = [
      inputs[0] as number,
      (inputs[1] as number) - (inputs[2] as number),
      0.5 - (inputs[3] as number),
    ];
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    for (let k = 0; k < 3; k++) outputs[k] = (e[k] as number) / s;
    yield captureLine({
      device: `device-${i % devices}`,
      fleet: opts.fleet,
      eventId: `evt-${i}`,
      inferenceTime: new Date(Date.UTC(2026, 10, 24, 10, 0, 0) + i * 10).toISOString(),
      inputs,
      outputs,
    });
  }
}
