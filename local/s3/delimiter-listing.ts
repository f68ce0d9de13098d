/** The part of s3rver's store that lists a bucket. */
export interface ListingStore {
  listObjects(
    bucket: string,
    options: { delimiter?: string; prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<{ objects: { key: string }[]; commonPrefixes: string[]; isTruncated: boolean }>;
}

/**
 * s3rver 3.7 stops walking a folder once its path holds the delimiter, before it has seen the
 * objects inside, so a key two or more levels below the prefix yields no common prefix at all
 * (`Prefix: "a/", Delimiter: "/"` misses `a/b/` when the only key is `a/b/c/d`). This lists
 * without the delimiter and groups the keys as S3 does.
 */
export function groupByDelimiter(store: ListingStore): void {
  const listAll = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const { delimiter = "", prefix = "", maxKeys = Number.POSITIVE_INFINITY } = options;
    if (!delimiter) return listAll(bucket, options);
    const all = await listAll(bucket, { ...options, delimiter: "", maxKeys: Number.POSITIVE_INFINITY });
    const commonPrefixes = new Set<string>();
    const objects: typeof all.objects = [];
    let isTruncated = false;
    for (const object of all.objects) {
      const at = object.key.indexOf(delimiter, prefix.length);
      if (at !== -1) commonPrefixes.add(object.key.slice(0, at + delimiter.length));
      else if (objects.length < maxKeys) objects.push(object);
      else {
        isTruncated = true;
        break;
      }
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  };
}
