// Multi-segment resources (RNS 1.4.2 Resource.__init__ and get_progress): data and metadata together larger than
// MAX_EFFICIENT_SIZE go as segments 1..l, each a resource of its own with its own hash, advertised one after
// another (segment i+1 once segment i is proven) and all naming the first segment's hash as original hash.
// Segment 1 carries the metadata prefix and MAX_EFFICIENT_SIZE - prefix bytes of data; later segments carry
// MAX_EFFICIENT_SIZE bytes each.
import { MAX_EFFICIENT_SIZE } from "./limits.js";

export interface SegmentSlice {
  /** Offset and length in the caller's data (the metadata prefix is not counted). */
  dataOffset: number;
  dataLength: number;
}

/** How many segments `dataLength` bytes plus a `metadataLength`-byte prefix take. */
export function segmentCount(dataLength: number, metadataLength: number): number {
  const total = dataLength + metadataLength;
  return total <= MAX_EFFICIENT_SIZE ? 1 : Math.floor((total - 1) / MAX_EFFICIENT_SIZE) + 1;
}

/** The data of segment `index` (from 1) of `total`. */
export function segmentSlice(index: number, total: number, dataLength: number, metadataLength: number): SegmentSlice {
  if (total === 1) return { dataOffset: 0, dataLength };
  const firstLength = MAX_EFFICIENT_SIZE - metadataLength;
  const offset = index === 1 ? 0 : firstLength + (index - 2) * MAX_EFFICIENT_SIZE;
  const length = Math.min(index === 1 ? firstLength : MAX_EFFICIENT_SIZE, dataLength - offset);
  return { dataOffset: offset, dataLength: Math.max(0, length) };
}

/**
 * Progress of a whole resource from the current segment's count of parts, as the reference estimates it: every
 * segment counts as a full segment's worth of parts, and a short (last) segment is scaled up to one.
 */
export function resourceProgress(o: {
  segmentIndex: number;
  totalSegments: number;
  doneParts: number;
  segmentParts: number;
  sdu: number;
}): number {
  if (o.segmentParts === 0) return 0;
  if (o.totalSegments === 1) return Math.min(1, o.doneParts / o.segmentParts);
  const perSegment = Math.ceil(MAX_EFFICIENT_SIZE / o.sdu);
  const factor = o.segmentParts < perSegment ? perSegment / o.segmentParts : 1;
  const done = (o.segmentIndex - 1) * perSegment + o.doneParts * factor;
  return Math.min(1, done / (o.totalSegments * perSegment));
}
