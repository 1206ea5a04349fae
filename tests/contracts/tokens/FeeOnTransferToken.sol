// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice A test-only ERC-20 whose transfers burn a fee that anyone can switch on at any time, as
/// some real tokens can: the recipient gets less than the amount sent.
contract FeeOnTransferToken is ERC20 {
    /// @notice The fee burnt from every transfer, in basis points.
    uint16 public feeBps;

    constructor() ERC20("Fee token", "FEE") {}

    /// @notice Mints `amount` to `to`; open to anyone.
    /// @param to the recipient
    /// @param amount the amount
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the transfer fee; open to anyone.
    /// @param bps the fee in basis points
    function setFeeBps(uint16 bps) external {
        feeBps = bps;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0) && feeBps != 0) {
            uint256 fee = (value * feeBps) / 10_000;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}
