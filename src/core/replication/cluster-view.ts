/**
 * What replication needs to know about the cluster: where a key lives and who is up. The node
 * composes it from the ring and membership (src/core/node.ts); tests and the simulator can supply
 * their own. Keeping it narrow keeps replication testable without gossip.
 */
import type { Address, NodeId } from '../wire.js';

/** One entry of a key's annotated preference list (see the ring's get_apl_ann equivalent). */
export type PreferenceEntry =
  | { readonly node: NodeId; readonly role: 'primary' }
  | { readonly node: NodeId; readonly role: 'fallback'; readonly standsFor: NodeId };

export interface ClusterView {
  /** This node's id. */
  readonly localId: NodeId;
  /**
   * The key's first `n` primaries that are up, plus a fallback standing in for each primary that
   * is down (this node always counts itself as up).
   */
  preferenceList(key: string, n: number): readonly PreferenceEntry[];
  /** The key's `n` primaries, up or not. */
  primaries(key: string, n: number): readonly NodeId[];
  /** Where to reach a member. */
  addressOf(id: NodeId): Address | undefined;
  /** Whether a member is considered up. */
  isUp(id: NodeId): boolean;
}
