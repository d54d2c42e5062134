// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Spare Cycles credit token (SPARE), 18 decimals.
/// @notice Minted only by the distributor that deployed it, only when a volunteer claims against a
/// posted payout root, so the total supply is exactly the sum of all claims and every token traces
/// back to hub-signed ledger receipts. There is no pre-mint, no owner mint and no burn hook.
contract SpareCyclesToken is ERC20 {
    /// @notice The distributor: the only account that may mint.
    address public immutable minter;

    /// @notice `caller` is not the distributor.
    error NotMinter(address caller);

    constructor() ERC20("Spare Cycles Credit", "SPARE") {
        minter = msg.sender;
    }

    /// @notice Mint `amount` base units to `to` (distributor only).
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
