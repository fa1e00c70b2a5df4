export * from './columns.ts'
export * from './links.ts'
export * from './query.ts'
export * from './sort.ts'
