/**
 * Metadata-only reads. The controller watches and lists the objects of its runs only to be woken and to prune; their
 * bodies (a ScanResult's tree, a result shard, a pod's spec) would make its memory grow with the cluster and the
 * retained history. The API server answers `PartialObjectMetadata` (name, uid, labels, resourceVersion, owner) when
 * asked for it in the Accept header, for lists and for watches.
 */
import { KubeConfig, setHeaderOptions } from '@kubernetes/client-node';

const AS_METADATA = 'g=meta.k8s.io;v=v1';
export const METADATA_LIST_ACCEPT = `application/json;as=PartialObjectMetadataList;${AS_METADATA}`;
/** A watch streams single objects: the server takes the item kind for the events. */
export const METADATA_WATCH_ACCEPT = `application/json;as=PartialObjectMetadata;${AS_METADATA}`;

/** Options for a list call of @kubernetes/client-node that make it return metadata only. */
export const metadataList = setHeaderOptions('Accept', METADATA_LIST_ACCEPT);

/**
 * A KubeConfig whose requests ask for metadata only: client-node's Watch (and so an informer) takes its request
 * headers from the KubeConfig alone. Only the method the Watch calls is overridden.
 */
export function metadataWatchConfig(kc: KubeConfig): KubeConfig {
  const wrapped = Object.create(kc) as KubeConfig;
  wrapped.applySecurityAuthentication = async (ctx) => {
    await kc.applySecurityAuthentication(ctx);
    ctx.setHeaderParam('Accept', METADATA_WATCH_ACCEPT);
  };
  return wrapped;
}

/** Objects per page of a metadata list (a few hundred bytes each). */
export const METADATA_PAGE = 500;

/** One page of a list: typed lists name the token `_continue`, custom-object lists `continue`. */
export interface Page<T> {
  items: T[];
  metadata?: { continue?: string; _continue?: string };
}

/** Calls `page` with the previous page's continue token until the list is exhausted; yields each page's items. */
export async function* paged<T>(page: (cont: string | undefined) => Promise<Page<T>>): AsyncGenerator<T[]> {
  let cont: string | undefined;
  do {
    const list = await page(cont);
    yield list.items ?? []; // a metadata list of nothing has "items": null
    cont = list.metadata?._continue || list.metadata?.continue || undefined;
  } while (cont);
}
