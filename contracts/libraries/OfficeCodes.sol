// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OfficeCodes
/// @notice Checks two-letter patent-office codes ("US", "CN", "EP", ...).
library OfficeCodes {
    /// @notice Whether `code` is two upper-case ASCII letters.
    /// @param code the code to check
    /// @return whether it is well-formed
    function isValid(bytes2 code) internal pure returns (bool) {
        bytes1 x = code[0];
        bytes1 y = code[1];
        return x >= 0x41 && x <= 0x5A && y >= 0x41 && y <= 0x5A;
    }
}
