/**
 * Runs of a file's blocks: consecutive logical blocks that are either consecutive on disk or all
 * zeros (a hole, or an extent not yet written). Both mapping schemes (extent trees and the ext2
 * block map) describe a range of a file as runs, and the file reader makes one device call per run.
 *
 * @example
 * ```ts
 * import { appendRun, type BlockRun } from "./block_run.ts";
 *
 * const runs: BlockRun[] = [];
 * appendRun(runs, 0, 1, 100);
 * appendRun(runs, 1, 2, 101); // joins the first run
 * appendRun(runs, 3, 1, null); // a hole
 * console.log(runs); // [ { logical: 0, count: 3, physical: 100 }, { logical: 3, count: 1, physical: null } ]
 * ```
 *
 * @module
 */

/** Consecutive logical blocks of a file. */
export interface BlockRun {
  /** First logical block. */
  logical: number;
  /** Number of blocks. */
  count: number;
  /** First physical block, or `null` when the blocks read as zeros. */
  physical: number | null;
}

/** Appends `count` blocks from `logical`, joining the last run when they continue it. */
export function appendRun(runs: BlockRun[], logical: number, count: number, physical: number | null): void {
  if (count <= 0) return;
  const last = runs[runs.length - 1];
  if (last !== undefined && last.logical + last.count === logical) {
    if (physical === null && last.physical === null) {
      last.count += count;
      return;
    }
    if (physical !== null && last.physical !== null && last.physical + last.count === physical) {
      last.count += count;
      return;
    }
  }
  runs.push({ logical, count, physical });
}
