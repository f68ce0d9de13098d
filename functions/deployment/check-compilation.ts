import { lambdaHandler } from "../shared/handler.ts";
import { checkCompilation } from "./compilation.ts";
import type { CompilationState } from "./plan.ts";

export const handler = lambdaHandler("check-compilation", (event: CompilationState) =>
  checkCompilation(event, {}),
);
