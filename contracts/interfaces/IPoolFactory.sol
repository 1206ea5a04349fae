// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPoolFactory
/// @notice Creates patent pools as EIP-1167 clones of one PatentPool implementation and keeps the
/// list of them; the indexer discovers pools from `PoolCreated`.
interface IPoolFactory {
    /// @notice A pool was created and initialised.
    /// @param pool the new pool's address
    /// @param index its position in the factory's list
    /// @param operator the pool's operator
    /// @param name the pool's name
    /// @param kind 0 company, 1 industry, 2 technology, 3 geography
    /// @param field the technology field
    /// @param paymentToken the ERC-20 payments are made in
    event PoolCreated(
        address indexed pool,
        uint256 indexed index,
        address indexed operator,
        string name,
        uint8 kind,
        string field,
        address paymentToken
    );

    /// @notice The pool kind is not 0..3.
    /// @param kind the rejected kind
    error PoolFactoryInvalidKind(uint8 kind);

    /// @notice The pool name is empty.
    error PoolFactoryEmptyName();

    /// @notice A pool's name or field is longer than the factory stores (200 bytes).
    /// @param length the text's length in bytes
    /// @param limit the longest accepted
    error PoolFactoryTextTooLong(uint256 length, uint256 limit);

    /// @notice The payment token is not a contract.
    /// @param paymentToken the rejected address
    error PoolFactoryInvalidPaymentToken(address paymentToken);

    /// @notice The zero address was given for the operator, the implementation or the registry.
    error PoolFactoryZeroAddress();

    /// @notice The index is beyond the list of pools.
    /// @param index the requested index
    /// @param count how many pools exist
    error PoolFactoryIndexOutOfRange(uint256 index, uint256 count);

    /// @notice Creates a pool; POOL_CREATOR_ROLE only. The factory must hold the asset registry's
    /// POOL_FACTORY_ROLE (it registers the pool there). The pool starts Incubating with the default
    /// qualification rule ({US, CN, DE, JP}, 2 grants, score 6000), a 10 % operator share under a
    /// 30 % ceiling, a 90-day withdrawal notice and a 90-day delay for announced changes.
    /// @param name the pool's name
    /// @param kind 0 company, 1 industry, 2 technology, 3 geography
    /// @param field the technology field
    /// @param paymentToken the ERC-20 payments are made in
    /// @param operator receives the pool's admin, operator and arbiter roles and the operator's share
    /// @return pool the new pool's address
    function createPool(string calldata name, uint8 kind, string calldata field, address paymentToken, address operator)
        external
        returns (address pool);

    /// @notice Creates a pool with its own bounds; POOL_CREATOR_ROLE only. Like `createPool`, but
    /// the operator-share ceiling and the delay of announced parameter changes, both fixed for the
    /// pool's life, are given (`createPool` uses 3000 bps and 90 days).
    /// @param name the pool's name
    /// @param kind 0 company, 1 industry, 2 technology, 3 geography
    /// @param field the technology field
    /// @param paymentToken the ERC-20 payments are made in
    /// @param operator receives the pool's admin, operator and arbiter roles and the operator's share
    /// @param maxOperatorShareBps the most the operator's share can ever be (0..10000)
    /// @param changeDelay how long announced parameter changes wait (1 to 365 days)
    /// @return pool the new pool's address
    function createPoolWithBounds(
        string calldata name,
        uint8 kind,
        string calldata field,
        address paymentToken,
        address operator,
        uint16 maxOperatorShareBps,
        uint64 changeDelay
    ) external returns (address pool);

    /// @notice How many pools the factory created.
    /// @return the count
    function poolCount() external view returns (uint256);

    /// @notice The pool at a position of the list.
    /// @param index the position, from 0
    /// @return the pool's address
    function poolAt(uint256 index) external view returns (address);

    /// @notice The PatentPool implementation the clones delegate to.
    /// @return its address
    function implementation() external view returns (address);

    /// @notice The PatentAsset registry every pool reads.
    /// @return its address
    function assetRegistry() external view returns (address);

    /// @notice Whether an address is a pool this factory created.
    /// @param pool the address
    /// @return whether it is
    function isPool(address pool) external view returns (bool);
}
