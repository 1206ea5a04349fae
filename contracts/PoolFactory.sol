// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IPatentAsset} from "./interfaces/IPatentAsset.sol";
import {IPatentPool} from "./interfaces/IPatentPool.sol";
import {IPoolFactory} from "./interfaces/IPoolFactory.sol";

/// @title PoolFactory
/// @notice Creates patent pools as EIP-1167 clones of one PatentPool implementation.
contract PoolFactory is IPoolFactory, AccessControl {
    /// @notice Role that may create pools.
    bytes32 public constant POOL_CREATOR_ROLE = keccak256("POOL_CREATOR_ROLE");

    /// @notice The operator-share ceiling of pools made by `createPool`.
    uint16 public constant DEFAULT_MAX_OPERATOR_SHARE_BPS = 3_000;
    /// @notice The change delay of pools made by `createPool`.
    uint64 public constant DEFAULT_CHANGE_DELAY = 90 days;

    uint8 private constant _KIND_COUNT = 4;
    /// @dev The longest pool name or field, in bytes (the command refuses longer ones too).
    uint256 private constant _MAX_TEXT = 200;

    address private immutable _implementation;
    address private immutable _assetRegistry;
    address[] private _pools;
    mapping(address pool => bool) private _isPool;

    /// @param implementation_ the PatentPool implementation
    /// @param assetRegistry_ the PatentAsset registry
    /// @param admin receives DEFAULT_ADMIN_ROLE and POOL_CREATOR_ROLE
    constructor(address implementation_, address assetRegistry_, address admin) {
        if (implementation_ == address(0) || assetRegistry_ == address(0) || admin == address(0)) {
            revert PoolFactoryZeroAddress();
        }
        _implementation = implementation_;
        _assetRegistry = assetRegistry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(POOL_CREATOR_ROLE, admin);
    }

    /// @inheritdoc IPoolFactory
    function createPool(string calldata name, uint8 kind, string calldata field, address paymentToken, address operator)
        external
        onlyRole(POOL_CREATOR_ROLE)
        returns (address pool)
    {
        return _create(name, kind, field, paymentToken, operator, DEFAULT_MAX_OPERATOR_SHARE_BPS, DEFAULT_CHANGE_DELAY);
    }

    /// @inheritdoc IPoolFactory
    function createPoolWithBounds(
        string calldata name,
        uint8 kind,
        string calldata field,
        address paymentToken,
        address operator,
        uint16 maxOperatorShareBps,
        uint64 changeDelay
    ) external onlyRole(POOL_CREATOR_ROLE) returns (address pool) {
        return _create(name, kind, field, paymentToken, operator, maxOperatorShareBps, changeDelay);
    }

    function _create(
        string calldata name,
        uint8 kind,
        string calldata field,
        address paymentToken,
        address operator,
        uint16 maxOperatorShareBps,
        uint64 changeDelay
    ) private returns (address pool) {
        if (bytes(name).length == 0) revert PoolFactoryEmptyName();
        if (bytes(name).length > _MAX_TEXT) revert PoolFactoryTextTooLong(bytes(name).length, _MAX_TEXT);
        if (bytes(field).length > _MAX_TEXT) revert PoolFactoryTextTooLong(bytes(field).length, _MAX_TEXT);
        if (kind >= _KIND_COUNT) revert PoolFactoryInvalidKind(kind);
        if (paymentToken.code.length == 0) revert PoolFactoryInvalidPaymentToken(paymentToken);
        if (operator == address(0)) revert PoolFactoryZeroAddress();
        pool = Clones.clone(_implementation);
        uint256 index = _pools.length;
        _pools.push(pool);
        _isPool[pool] = true;
        emit PoolCreated(pool, index, operator, name, kind, field, paymentToken);
        IPatentPool(pool).initialize(
            name, kind, field, paymentToken, operator, _assetRegistry, maxOperatorShareBps, changeDelay
        );
        // The registry lets the pool follow its families' tokens; the factory needs the registry's
        // POOL_FACTORY_ROLE for that (the deployment grants it).
        IPatentAsset(_assetRegistry).registerPool(pool);
    }

    /// @inheritdoc IPoolFactory
    function poolCount() external view returns (uint256) {
        return _pools.length;
    }

    /// @inheritdoc IPoolFactory
    function poolAt(uint256 index) external view returns (address) {
        if (index >= _pools.length) revert PoolFactoryIndexOutOfRange(index, _pools.length);
        return _pools[index];
    }

    /// @inheritdoc IPoolFactory
    function implementation() external view returns (address) {
        return _implementation;
    }

    /// @inheritdoc IPoolFactory
    function assetRegistry() external view returns (address) {
        return _assetRegistry;
    }

    /// @inheritdoc IPoolFactory
    function isPool(address pool) external view returns (bool) {
        return _isPool[pool];
    }
}
