/**
 * Which files count as images: extensions of formats the prebuilt sharp decodes. Hidden files and
 * folders (`.DS_Store`, `.git/`) and macOS zip debris (`__MACOSX/`) are passed over silently;
 * other non-image files are counted as skipped so loaders can say what they ignored.
 */
import { extname } from 'node:path'

/** BMP is absent on purpose: the prebuilt libvips in sharp cannot read it. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.jpe', '.webp', '.gif', '.tif', '.tiff', '.avif'] as const

export type FileVerdict = 'image' | 'hidden' | 'other'

/** `rel` is a POSIX relative path. */
export function classifyFile(rel: string): FileVerdict {
  const parts = rel.split('/')
  if (parts.some((p) => p.startsWith('.') || p === '__MACOSX' || p === 'Thumbs.db' || p === 'desktop.ini')) return 'hidden'
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(rel).toLowerCase()) ? 'image' : 'other'
}

/** Natural order, so `img2.png` sorts before `img10.png` and classes list as a person expects. */
export const naturalCompare = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' }).compare
