"""Images in and out: files (`image_io`), arrays (`images`), evaluation sets
(`eval_images`), image folders prepared as TFDS datasets (`folder_dataset`), the Grain
training stream (`train_input`, `word_input`), the embedded default images (`embedded`)
and which folders a config uses (`datasets`). Importing the package imports none of them."""
