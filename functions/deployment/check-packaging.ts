import { lambdaHandler } from "../shared/handler.ts";
import { checkPackaging, type PackagingEvent } from "./packaging.ts";

export const handler = lambdaHandler("check-packaging", (event: PackagingEvent) => checkPackaging(event, {}));
