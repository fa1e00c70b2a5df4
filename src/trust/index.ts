export * from './authority.ts'
export * from './membership.ts'
export * from './root-chain.ts'
