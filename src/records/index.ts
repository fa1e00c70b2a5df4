export * from './canonical.ts'
export * from './envelope.ts'
export * from './evidence.ts'
export * from './schemas.ts'
