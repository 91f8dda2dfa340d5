"""The networks: ZM-Net (`zmnet`: DIN, TNet, PNet and their contract), the frozen VGG loss
network (`vgg`, `vgg_weights`), the perceptual losses (`losses`) and `model.Model`, all of
them as pure functions of explicit params."""
