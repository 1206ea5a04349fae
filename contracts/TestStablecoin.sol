// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestStablecoin
/// @notice A 6-decimal dollar stand-in for local chains only: anyone may mint. Never deploy it to a
/// public network as a payment token.
contract TestStablecoin is ERC20 {
    constructor() ERC20("patentpool Test USD", "tUSD") {}

    /// @notice Mints `amount` to `to`; open to anyone, for local testing.
    /// @param to the recipient
    /// @param amount the amount, in units of 10**-6
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
