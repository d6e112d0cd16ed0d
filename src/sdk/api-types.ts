/**
 * What the HTTP API sends and answers, as the SDK sees it: the types generated from the API contract
 * (contract.generated.ts, `npm run contract`) under the SDK's names, with type parameters where the SDK
 * knows more (a task's output type). Nothing here is written by hand but those type parameters and the
 * SDK's own unions.
 */
import type {
  ApiError,
  ArrayBindings,
  ComputeSubmission as ComputeSubmissionFields,
  FailedItem,
  FetchItemResult,
  FetchSubmission as FetchSubmissionFields,
  ItemError,
  ProgressData,
  ResultEvent,
  ResultItem,
  ResultsHead,
  WorkloadResults,
} from './contract.generated';

export type {
  ApiError,
  ArrayBindings,
  FetchRequest,
  ItemError,
  ItemErrorView,
  ProgressData,
  ReduceOperation,
  StoredArray,
  SubmitAnswer,
  TaskInfo,
  WorkerInfo,
  WorkloadStatus,
  Workload as WorkloadView,
} from './contract.generated';
export { COMPUTE_OPTION_FIELDS, FETCH_OPTION_FIELDS } from './contract.generated';

/** The fields of a submission that are its items, its type or its task: every other field is an option. */
type ItemFields = 'type' | 'task' | 'inputs' | 'arrays' | 'urls' | 'requests';

/** Options every submission may carry (the fields compute and fetch submissions share). */
export type WorkloadOptions = Pick<ComputeSubmissionFields, Exclude<keyof ComputeSubmissionFields & keyof FetchSubmissionFields, ItemFields>>;

/** The options of a compute workload over `inputs`: every field of the contract's compute submission but its items. */
export type ComputeOptions = Omit<ComputeSubmissionFields, ItemFields | 'elementsPerItem'>;

/** The options of a fetch workload: every field of the contract's fetch submission but its items. */
export type FetchSubmissionOptions = Omit<FetchSubmissionFields, ItemFields>;

/** A compute workload over `inputs`. */
export type ComputeSubmission = Omit<ComputeSubmissionFields, 'inputs' | 'arrays' | 'elementsPerItem'> & Required<Pick<ComputeSubmissionFields, 'inputs'>>;

/** A compute workload over named arrays (`PUT /v1/arrays/:name` first): items are element ranges. */
export type ArrayComputeSubmission = Omit<ComputeSubmissionFields, 'task' | 'inputs' | 'arrays' | 'cache'> & {
  /** `mulArrays` (x, y, out), `dot` (x, y) or `sumArray` (x). */
  task: 'mulArrays' | 'dot' | 'sumArray';
  arrays: ArrayBindings;
};

export type FetchSubmission = FetchSubmissionFields;

export type Submission = ComputeSubmission | ArrayComputeSubmission | FetchSubmission;

/** A results page, `results` typed by the task's output. */
export type ResultsAnswer<Output = unknown> = Omit<WorkloadResults, 'results'> & {
  /** `results[i]` answers item `offset + i`; null for a failed or unfinished item. */
  results: Array<Output | null>;
};

/** The first line of a results stream (`Accept: application/x-ndjson`): the workload when the stream began. */
export type ResultsStreamHead = ResultsHead;

/** One item of a results stream or event stream: its value, `null` with `error` for a failed item, `null` alone for one not finished. */
export type ResultEntry<Output = unknown> = Omit<ResultItem, 'value'> & {
  value: Output | null;
  error?: FailedItem['error'];
};

/** The result of one fetch item, `value` typed. */
export type FetchResult<Value = unknown> = Omit<FetchItemResult, 'value'> & { value: Value };

/** One event of `GET /v1/workloads/:id/events` (an `error` event is thrown, not yielded). */
export type WorkloadEvent = { type: 'progress'; data: ProgressData } | { type: 'result'; data: ResultEvent } | { type: 'done'; data: ProgressData };

/** The error envelope's inner object. */
export type ApiErrorBody = ApiError['error'];
/** Why an item failed. */
export type ItemFailure = ItemError;
