/** Whether a tensor came from `deviceFleetInputs` or `deviceFleetOutputs`. */
export type TensorKind = "input" | "output";

export interface TensorValues {
  kind: TensorKind;
  name: string;
  /** Flattened elements. Backed by a reused buffer: valid only until the reader's next record. */
  values: ArrayLike<number>;
}

/** One decoded capture record, as both reader paths produce it. */
export interface CaptureRecord {
  fleet: string;
  device: string;
  model: string;
  modelVersion: string | undefined;
  inferenceTime: string | undefined;
  tensors: TensorValues[];
}

/** A line that could not be used; `line` is 1-based. */
export interface QuarantineEntry {
  file: string;
  line: number;
  reason: string;
}
