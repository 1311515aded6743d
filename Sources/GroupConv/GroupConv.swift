// GroupConv: grouped, depthwise and depthwise-separable convolution with PyTorch's semantics.
//
// `import GroupConv` brings the tensor type and the .npy format along with the convolutions.
@_exported import Formats
@_exported import Tensors
