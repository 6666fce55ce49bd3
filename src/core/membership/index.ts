/** Gossip membership and failure detection: the public surface of src/core/membership. */
export {
  Membership,
  type LocalMember,
  type MembershipChange,
  type MembershipChangeKind,
  type MembershipComponents,
  type MembershipStats,
} from './membership.js';
export { isRingState, isUpState, type MemberRecord, type MemberState, type MemberView } from './member.js';
export { MEMBERSHIP_DEFAULTS, resolveMembershipOptions, type MembershipOptions, type ResolvedMembershipOptions } from './options.js';
export { PhiAccrualDetector, elapsedForPhi, phiOf, type PhiAccrualOptions } from './phi-accrual.js';
