// Which tree nodes start open: top levels open, big subtrees folded, within a row budget.

/** How many rows a freshly drawn tree shows at most (the root's own children always show). */
export const ROW_BUDGET = 40;

/**
 * Decide the default open state of every node of a flat tree.
 *
 * The root is always open. Then level by level, the visible nodes of that level open
 * smallest-first while the number of visible rows stays within `budget`; a node that does
 * not fit stays folded, and so do the larger ones after it. So small subtrees open and big
 * ones fold, and the result depends only on the tree's shape.
 *
 * @param {number[]} parents  parent index per node (-1 for the root, always smaller than the node)
 * @param {number} [budget]
 * @returns {boolean[]} open per node (leaves are reported as false)
 */
export function defaultOpen(parents, budget = ROW_BUDGET) {
  const n = parents.length;
  /** @type {number[][]} */
  const children = Array.from({ length: n }, () => []);
  for (let i = 1; i < n; i++) children[parents[i]].push(i);
  const open = new Array(n).fill(false);
  if (n === 0) return open;
  open[0] = children[0].length > 0;
  let visible = 1 + children[0].length;
  let level = children[0];
  while (level.length > 0) {
    const candidates = level
      .filter((i) => children[i].length > 0)
      .sort((a, b) => children[a].length - children[b].length || a - b);
    /** @type {number[]} */
    const next = [];
    for (const i of candidates) {
      if (visible + children[i].length > budget) break;
      open[i] = true;
      visible += children[i].length;
      next.push(...children[i]);
    }
    level = next;
  }
  return open;
}
