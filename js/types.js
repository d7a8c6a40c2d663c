// JSDoc types of the progress snapshot (docs/snapshot-schema.md, schema 1). No runtime code.

/**
 * One scope-tree row: [parent, name, total, completed, running, failed, time].
 * @typedef {[number, string, number, number, number, number, number]} Row
 */

/**
 * @typedef {object} Section
 * @property {string} key      "stale" or "run"
 * @property {string} title
 * @property {Row[]} nodes     flat tree; nodes[0] is the root, parents have smaller indices
 */

/**
 * @typedef {object} Group
 * @property {number} id
 * @property {string} section
 * @property {number} node
 * @property {string[]} scope
 * @property {string} type
 * @property {string} message
 * @property {number} count
 * @property {number} first
 * @property {number} last
 * @property {number[]} instances
 * @property {[number, number][]} scopes  [row, count] per failing scope, first seen first
 *                                         (empty when the group has one scope)
 * @property {number} scopes_omitted       scopes not listed

/**
 * @typedef {object} Failures
 * @property {number} count
 * @property {Group[]} groups
 * @property {number} groups_omitted
 * @property {number} instances_kept
 * @property {number} max_instances
 */

/**
 * @typedef {object} Snapshot
 * @property {number} schema
 * @property {string} state    pending | running | done | failed | interrupted | stopped
 * @property {number} elapsed
 * @property {number} rate
 * @property {Section[]} sections
 * @property {Failures} failures
 */

/**
 * @typedef {object} Instance
 * @property {number} id
 * @property {number} group
 * @property {number} time
 * @property {string} [message]  the failure's own message (its group may show a pattern)
 * @property {string} traceback
 * @property {string} symbolic
 */

export {};
