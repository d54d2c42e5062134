/**
 * The Spare Cycles protocols as ProtocolSpecs (wire.ts): one place that pairs each protocol id
 * with its messages, schema checks and limits, for `callProtocol` and `handleProtocol`.
 */
import { BLOB_LIMITS, BLOB_PROTOCOL, checkBlobRequest, checkBlobResponse } from './blob.ts'
import { RESULT_LIMITS, RESULT_LIMITS_V1_1, RESULT_LIMITS_V2, RESULT_LIMITS_V3, RESULT_PROTOCOL, RESULT_PROTOCOL_V1_1, RESULT_PROTOCOL_V2, RESULT_PROTOCOL_V3, WORK_LIMITS, WORK_LIMITS_V2, WORK_PROTOCOL, WORK_SITE_PROTOCOL } from './ids.ts'
import { JOB_LIMITS, JOB_PROTOCOL, checkJobRequest, checkJobResponse } from './job-protocol.ts'
import { JobRequest, JobResponse } from './pb/jobs.ts'
import { BlobPutRequest, BlobPutResponse, PostJobV2 } from './pb/upload.ts'
import { BLOB_PUT_LIMITS, BLOB_PUT_PROTOCOL, JOB_PROTOCOL_V2, JOB_V2_LIMITS, checkBlobPutRequest, checkBlobPutResponse, checkPostJobV2 } from './upload.ts'
import { BLOB_PROVIDERS_LIMITS, BLOB_PROVIDERS_PROTOCOL, checkBlobProvidersRequest, checkBlobProvidersResponse } from './providers.ts'
import { BlobProvidersRequest, BlobProvidersResponse, BlobRequest, BlobResponse, ResultBatchRequest, ResultBatchResponse, ResultRequest, ResultResponse, SignedResultBatchRequest, SiteWorkRequest, WorkRequest, WorkRequestV2, WorkResponse } from './pb/messages.ts'
import { WORK_PROTOCOL_V2, checkWorkRequestV2 } from './capabilities.ts'
import { checkResultBatchRequest, checkResultBatchResponse, checkResultRequest, checkResultResponse, checkSignedResultBatchRequest, checkSiteWorkRequest, checkWorkRequest, checkWorkResponse } from './schema.ts'
import type { ProtocolSpec } from './wire.ts'

/** /sparecycles/work/1.0.0: lease and release replicas. */
export const WORK_SPEC: ProtocolSpec<WorkRequest, WorkResponse> = {
  id: WORK_PROTOCOL, requestCodec: WorkRequest, responseCodec: WorkResponse, checkRequest: checkWorkRequest, checkResponse: checkWorkResponse, limits: WORK_LIMITS
}

/** /sparecycles/work/1.1.0: the same, on behalf of a partner site (siteKey). */
export const WORK_SITE_SPEC: ProtocolSpec<SiteWorkRequest, WorkResponse> = {
  id: WORK_SITE_PROTOCOL, requestCodec: SiteWorkRequest, responseCodec: WorkResponse, checkRequest: checkSiteWorkRequest, checkResponse: checkWorkResponse, limits: WORK_LIMITS
}

/** /sparecycles/work/2.0.0: lease with the page's capabilities, give back with a reason. */
export const WORK_SPEC_V2: ProtocolSpec<WorkRequestV2, WorkResponse> = {
  id: WORK_PROTOCOL_V2, requestCodec: WorkRequestV2, responseCodec: WorkResponse, checkRequest: checkWorkRequestV2, checkResponse: checkWorkResponse, limits: WORK_LIMITS_V2
}

/** /sparecycles/result/1.0.0: submit a signed result, collect receipts. */
export const RESULT_SPEC: ProtocolSpec<ResultRequest, ResultResponse> = {
  id: RESULT_PROTOCOL, requestCodec: ResultRequest, responseCodec: ResultResponse, checkRequest: checkResultRequest, checkResponse: checkResultResponse, limits: RESULT_LIMITS
}

/** /sparecycles/result/1.1.0: the same messages with larger caps (matmul tiles). */
export const RESULT_SPEC_V1_1: ProtocolSpec<ResultRequest, ResultResponse> = { ...RESULT_SPEC, id: RESULT_PROTOCOL_V1_1, limits: RESULT_LIMITS_V1_1 }

/** /sparecycles/result/2.0.0: many signed results in one request, an outcome for each, receipts. */
export const RESULT_SPEC_V2: ProtocolSpec<ResultBatchRequest, ResultBatchResponse> = {
  id: RESULT_PROTOCOL_V2, requestCodec: ResultBatchRequest, responseCodec: ResultBatchResponse, checkRequest: checkResultBatchRequest, checkResponse: checkResultBatchResponse, limits: RESULT_LIMITS_V2
}

/** /sparecycles/result/3.0.0: many results signed once (a Merkle root), an outcome for each, receipts. */
export const RESULT_SPEC_V3: ProtocolSpec<SignedResultBatchRequest, ResultBatchResponse> = {
  id: RESULT_PROTOCOL_V3, requestCodec: SignedResultBatchRequest, responseCodec: ResultBatchResponse, checkRequest: checkSignedResultBatchRequest, checkResponse: checkResultBatchResponse, limits: RESULT_LIMITS_V3
}

/** /sparecycles/blob/1.0.0: content-addressed bytes, chunk by chunk. */
export const BLOB_SPEC: ProtocolSpec<BlobRequest, BlobResponse> = {
  id: BLOB_PROTOCOL, requestCodec: BlobRequest, responseCodec: BlobResponse, checkRequest: checkBlobRequest, checkResponse: checkBlobResponse, limits: BLOB_LIMITS
}

/** /sparecycles/blob-providers/1.0.0: which volunteers hold a blob, or "I hold it now" (providers.ts). */
export const BLOB_PROVIDERS_SPEC: ProtocolSpec<BlobProvidersRequest, BlobProvidersResponse> = {
  id: BLOB_PROVIDERS_PROTOCOL, requestCodec: BlobProvidersRequest, responseCodec: BlobProvidersResponse, checkRequest: checkBlobProvidersRequest, checkResponse: checkBlobProvidersResponse, limits: BLOB_PROVIDERS_LIMITS
}

/** /sparecycles/job/1.0.0: researchers post small kernel jobs (kernel and inputs inline, 1 MiB cap) and follow them. */
export const JOB_SPEC: ProtocolSpec<JobRequest, JobResponse> = {
  id: JOB_PROTOCOL, requestCodec: JobRequest, responseCodec: JobResponse, checkRequest: checkJobRequest, checkResponse: checkJobResponse, limits: JOB_LIMITS
}

/** /sparecycles/blob-put/1.0.0: allowed researchers upload blobs (kernels, packed inputs), 1 MiB a chunk. */
export const BLOB_PUT_SPEC: ProtocolSpec<BlobPutRequest, BlobPutResponse> = {
  id: BLOB_PUT_PROTOCOL, requestCodec: BlobPutRequest, responseCodec: BlobPutResponse, checkRequest: checkBlobPutRequest, checkResponse: checkBlobPutResponse, limits: BLOB_PUT_LIMITS
}

/** /sparecycles/job/2.0.0: post a kernel job naming uploaded blobs (64 KiB cap); answered like job/1.0.0. */
export const JOB_SPEC_V2: ProtocolSpec<PostJobV2, JobResponse> = {
  id: JOB_PROTOCOL_V2, requestCodec: PostJobV2, responseCodec: JobResponse, checkRequest: checkPostJobV2, checkResponse: checkJobResponse, limits: JOB_V2_LIMITS
}
