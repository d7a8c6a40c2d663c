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
 */

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
 * @property {Running} [running]    the calls in flight (issue 15; absent in older snapshots)
 * @property {Activity} [activity]  calls finished per time bucket
 * @property {Resumed} [resumed]    only in a resumed run
 */

/**
 * One frame of a straggler's stack, outermost first as in a traceback.
 * @typedef {object} Frame
 * @property {string} file
 * @property {number} line
 * @property {string} function
 * @property {string} code      the source line ("" when unknown)
 * @property {boolean} user     not the standard library, site-packages or uberjob
 */

/**
 * @typedef {object} Stack
 * @property {number} sampled   the call's elapsed seconds when the stack was taken
 * @property {Frame[]} frames
 * @property {string | null} note  why there are no frames ("not available on this executor")
 */

/**
 * @typedef {object} RunningCall
 * @property {number} id           the call's number in the run: stable while it runs
 * @property {string} function     the function's qualified name
 * @property {string} section
 * @property {number} node         its scope's row in that section's nodes
 * @property {string[]} scope      that row's path
 * @property {number} elapsed      seconds it has been running
 * @property {boolean} straggler
 * @property {number | null} median  the median duration of its scope's completed calls
 * @property {Stack | null} stack  stragglers only
 */

/**
 * @typedef {object} Running
 * @property {number} count        every call in flight
 * @property {number} stragglers   how many of them are stragglers
 * @property {RunningCall[]} calls at most 20, longest running first
 * @property {number} omitted      count - calls.length
 * @property {[string, number][]} straggler_nodes  [section, row] of scopes with a straggler
 */

/**
 * @typedef {object} Activity
 * @property {number} bucket       seconds per bucket
 * @property {number[]} completed  completed calls per bucket, oldest first
 * @property {number[]} failed     failed calls per bucket
 */

/**
 * @typedef {object} Resumed
 * @property {number} count        how many times the run was resumed
 * @property {number} reused       completed calls of earlier attempts not run again
 * @property {string[]} refreshed  functions replaced by their redefinition in __main__
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
