import type { StateMachine } from "aws-local-stepfunctions";

/** The engine's event type (not exported by the package under a name). */
export type EventLog =
  ReturnType<StateMachine["run"]>["eventLogs"] extends AsyncGenerator<infer E> ? E : never;

/** One entry of GetExecutionHistory, shaped as AWS returns it (timestamps as Date here). */
export interface HistoryEvent {
  timestamp: string;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

/** AWS fails a Standard execution whose history would exceed this many events. */
export const HISTORY_EVENT_LIMIT = 25_000;

const json = (v: unknown) => JSON.stringify(v ?? null);
const dataDetails = { truncated: false };

/** Appends AWS-shaped events to one execution's history; ids count from 1 as on AWS. */
export class HistoryRecorder {
  constructor(
    readonly events: HistoryEvent[],
    private readonly now: () => Date,
    private readonly stateTypes: Map<string, string>,
    /** Called once when the history reaches AWS's limit of 25,000 events. */
    private readonly onLimit: () => void = () => undefined,
  ) {}

  add(type: string, details: Record<string, unknown> = {}): HistoryEvent {
    const id = this.events.length + 1;
    if (id === HISTORY_EVENT_LIMIT) this.onLimit();
    const event: HistoryEvent = {
      timestamp: this.now().toISOString(),
      type,
      id,
      previousEventId: id - 1,
      ...details,
    };
    this.events.push(event);
    return event;
  }

  /** Translates one event of the local engine; engine-only events (retried, caught) have no AWS counterpart. */
  fromEngine(log: EventLog): void {
    switch (log.type) {
      case "StateEntered": {
        const type = this.stateTypes.get(log.state.name) ?? log.state.type;
        this.add(`${type}StateEntered`, {
          stateEnteredEventDetails: {
            name: log.state.name,
            input: json(log.state.input),
            inputDetails: dataDetails,
          },
        });
        return;
      }
      case "StateExited": {
        const type = this.stateTypes.get(log.state.name) ?? log.state.type;
        this.add(`${type}StateExited`, {
          stateExitedEventDetails: {
            name: log.state.name,
            output: json(log.state.output),
            outputDetails: dataDetails,
          },
        });
        return;
      }
      case "MapIterationStarted":
        this.add(log.type, {
          mapIterationStartedEventDetails: { name: log.parentState.name, index: log.index },
        });
        return;
      case "MapIterationSucceeded":
        this.add(log.type, {
          mapIterationSucceededEventDetails: { name: log.parentState.name, index: log.index },
        });
        return;
      case "MapIterationFailed":
        this.add(log.type, {
          mapIterationFailedEventDetails: { name: log.parentState.name, index: log.index },
        });
        return;
      default:
        return;
    }
  }
}
