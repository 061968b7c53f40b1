"""Run folders: their one layout (`runfolder`), listing and comparing runs (`listing`),
renaming and deleting them (`manage`), and following a run from another process (`follow`)."""
