import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Thrown when a state file exists but cannot be read back; the endpoint refuses to start over it. */
export class StateFileError extends Error {
  constructor(
    readonly file: string,
    options: { cause: unknown },
  ) {
    super(`cannot read state file ${file}: ${(options.cause as Error)?.message ?? options.cause}`, options);
    this.name = "StateFileError";
  }
}

/**
 * One JSON document persisted in a service's state dir. Writes go to a temporary file and are
 * renamed into place, so a crash mid-write leaves the previous state readable.
 * @example const store = new JsonState(join(dir, "registry.json"), { groups: {} }); store.data.groups.x = g; store.save();
 */
export class JsonState<T extends object> {
  readonly data: T;

  constructor(
    readonly file: string,
    initial: T,
  ) {
    this.data = JsonState.load(file, initial);
  }

  static load<T>(file: string, initial: T): T {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return initial;
      throw new StateFileError(file, { cause: error });
    }
    try {
      return { ...initial, ...(JSON.parse(text) as T) };
    } catch (error) {
      throw new StateFileError(file, { cause: error });
    }
  }

  save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = join(dirname(this.file), `.${process.pid}.${Date.now()}.tmp`);
    writeFileSync(tmp, JSON.stringify(this.data, null, 1));
    renameSync(tmp, this.file);
  }
}
