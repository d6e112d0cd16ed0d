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
import type { COMPUTE_OPTION_FIELDS, FETCH_OPTION_FIELDS } from './contract.generated';

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

/** The option fields (every field but the items, the type and the task), as the contract lists them. */
type ComputeOptionField = (typeof COMPUTE_OPTION_FIELDS)[number];
type FetchOptionField = (typeof FETCH_OPTION_FIELDS)[number];

/** Options every submission may carry (the fields compute and fetch submissions share). */
export type WorkloadOptions = Pick<ComputeSubmissionFields, ComputeOptionField & FetchOptionField>;

/** The options of a compute workload over `inputs`: every option of the contract's compute submission but `elementsPerItem`. */
export type ComputeOptions = Omit<Pick<ComputeSubmissionFields, ComputeOptionField>, 'elementsPerItem'>;

/** The options of a fetch workload: every option of the contract's fetch submission. */
export type FetchSubmissionOptions = Pick<FetchSubmissionFields, FetchOptionField>;

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
