// wgsl_reflect's "main" is a CommonJS build in a "type": "module" package, which Node cannot load;
// its ES module build has no declarations of its own, so it takes the package's.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect'
}
