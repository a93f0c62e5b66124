// Weights I/O: safetensors read/write (atomic), PyTorch .pth import. See docs/weights.md.
export { saveSafetensors, loadSafetensors, readSafetensorsHeader } from './safetensors.js';
export type { SafetensorsEntry, SafetensorsHeader, NamedTensors } from './safetensors.js';
export { loadPth, loadPthStateDict, isStateDict, PyGlobal, PyDict, isTuple, STATE_DICT_KEYS } from './pth.js';
export type { PthValue } from './pth.js';
export { writeAtomic, writeFileAtomic, removeStaleTemporaries } from './atomic.js';
export type { WriteChunk } from './atomic.js';
export { tensorBytes, tensorFromBytes, ELEMENT_SIZE } from './raw.js';
