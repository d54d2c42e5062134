// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SpareCyclesToken} from "./SpareCyclesToken.sol";

/// @title Spare Cycles payout distributor.
/// @notice Holds one Merkle root per payout epoch, posted by the operator (the hub's payout key).
/// Each root commits to leaves (address account, uint256 cumulativeAmount) in the encoding of
/// OpenZeppelin's StandardMerkleTree: leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount)))).
/// `cumulativeAmount` is everything the account has earned up to the epoch's ledger seq, in token
/// base units; a claim transfers (mints) cumulativeAmount minus what the account already claimed.
/// Only the latest root is claimable: it supersedes every earlier one.
contract PayoutDistributor is Ownable {
    struct Epoch {
        bytes32 root;
        /// the last ledger seq the epoch covers
        uint64 ledgerSeq;
        /// entryHash of that ledger entry (the chain head the tree was built from)
        bytes32 chainHead;
        /// the sum of all leaves' cumulative amounts
        uint256 totalCumulative;
    }

    SpareCyclesToken public immutable token;
    /// @notice The latest epoch posted (0: none yet). Epochs are numbered 1, 2, 3, ...
    uint256 public currentEpoch;
    mapping(uint256 => Epoch) private _epochs;
    /// @notice Token base units each account has claimed so far.
    mapping(address => uint256) public claimed;

    /// @notice `caller` is not the operator.
    error NotOperator(address caller);
    /// @notice `epoch` is not the next epoch (`expected`): a duplicate, stale or skipped epoch.
    error StaleEpoch(uint256 epoch, uint256 expected);
    /// @notice The epoch covers ledger seq `ledgerSeq`, which is before the previous epoch's `previous`.
    error StaleLedgerSeq(uint64 ledgerSeq, uint64 previous);
    /// @notice A zero root was posted.
    error EmptyRoot();
    /// @notice No epoch was posted yet.
    error NoRoot();
    /// @notice The proof does not place (account, cumulativeAmount) under the current root.
    error InvalidProof(address account, uint256 cumulativeAmount);
    /// @notice `account` already claimed `alreadyClaimed` ≥ `cumulativeAmount`.
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed);

    event RootPosted(uint256 indexed epoch, bytes32 root, uint64 ledgerSeq, bytes32 chainHead, uint256 totalCumulative);
    event Claimed(address indexed account, uint256 indexed epoch, uint256 amount, uint256 cumulativeAmount);

    constructor(address operator) Ownable(operator) {
        token = new SpareCyclesToken();
    }

    /// @dev Ownable's check, with this contract's own error.
    function _checkOwner() internal view override {
        if (owner() != _msgSender()) revert NotOperator(_msgSender());
    }

    /// @notice Post epoch `epoch`'s root (operator only). `epoch` must be currentEpoch + 1.
    function postRoot(uint256 epoch, bytes32 root, uint64 ledgerSeq, bytes32 chainHead, uint256 totalCumulative) external onlyOwner {
        if (epoch != currentEpoch + 1) revert StaleEpoch(epoch, currentEpoch + 1);
        if (root == bytes32(0)) revert EmptyRoot();
        uint64 previous = _epochs[currentEpoch].ledgerSeq;
        if (ledgerSeq < previous) revert StaleLedgerSeq(ledgerSeq, previous);
        _epochs[epoch] = Epoch(root, ledgerSeq, chainHead, totalCumulative);
        currentEpoch = epoch;
        emit RootPosted(epoch, root, ledgerSeq, chainHead, totalCumulative);
    }

    /// @notice Epoch `epoch` as posted (all zero when not posted).
    function epochs(uint256 epoch) external view returns (bytes32 root, uint64 ledgerSeq, bytes32 chainHead, uint256 totalCumulative) {
        Epoch storage e = _epochs[epoch];
        return (e.root, e.ledgerSeq, e.chainHead, e.totalCumulative);
    }

    /// @notice What `account` could claim now with a proof of `cumulativeAmount` (0 when nothing).
    function claimable(address account, uint256 cumulativeAmount) external view returns (uint256) {
        uint256 done = claimed[account];
        return cumulativeAmount > done ? cumulativeAmount - done : 0;
    }

    /// @notice Mint to `account` its cumulative amount under the current root minus what it claimed.
    /// Anyone may send the claim; the tokens always go to `account`.
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external returns (uint256 amount) {
        uint256 epoch = currentEpoch;
        if (epoch == 0) revert NoRoot();
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        if (!MerkleProof.verifyCalldata(proof, _epochs[epoch].root, leaf)) revert InvalidProof(account, cumulativeAmount);
        uint256 done = claimed[account];
        if (cumulativeAmount <= done) revert NothingToClaim(account, cumulativeAmount, done);
        amount = cumulativeAmount - done;
        claimed[account] = cumulativeAmount;
        token.mint(account, amount);
        emit Claimed(account, epoch, amount, cumulativeAmount);
    }
}
